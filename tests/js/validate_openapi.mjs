// Validates an OpenAPI document (file path or "-" for stdin) against the
// official OpenAPI 3.1 schema. Exit 0 when valid; prints the errors otherwise.
import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";

const source = process.argv[2] ?? "-";
const text = readFileSync(source === "-" ? 0 : source, "utf8");
const validator = new Validator();
const result = await validator.validate(JSON.parse(text));
if (!result.valid) {
  console.log(JSON.stringify(result.errors, null, 2));
  process.exit(1);
}
console.log(`valid OpenAPI ${validator.version}`);
