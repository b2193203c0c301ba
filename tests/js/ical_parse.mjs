// Parses an iCalendar file with ical.js (an independent implementation of
// RFC 5545) and prints its events as JSON: [{uid, summary, location, start, end}].
// Usage: node ical_parse.mjs <file.ics>
import { readFileSync } from 'node:fs';
import ICAL from 'ical.js';

const [file] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: node ical_parse.mjs <file.ics>');
  process.exit(2);
}
try {
  const component = new ICAL.Component(ICAL.parse(readFileSync(file, 'utf8')));
  if (component.name !== 'vcalendar') {
    throw new Error(`not a calendar: ${component.name}`);
  }
  const events = component.getAllSubcomponents('vevent').map((v) => {
    const e = new ICAL.Event(v);
    if (!v.getFirstPropertyValue('dtstamp')) {
      throw new Error(`event ${e.uid} has no DTSTAMP`);
    }
    return { uid: e.uid, summary: e.summary, location: e.location, start: e.startDate.toString(), end: e.endDate.toString() };
  });
  console.log(JSON.stringify({ name: component.getFirstPropertyValue('x-wr-calname'), version: component.getFirstPropertyValue('version'), events }));
} catch (err) {
  console.error(`${err.name}: ${err.message}`);
  process.exit(1);
}
