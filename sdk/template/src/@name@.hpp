#pragma once
// The @name@ plugin: everything it offers is registered in registerWith().

#include <ardoise/plugin.hpp>

namespace ardoise::plugins::@name@ {

class @Name@Plugin : public Plugin {
public:
    /// Adds GET /api/v1/@name@/hello and a handler of user.created.
    Status registerWith(PluginContext& context) override;
};

}  // namespace ardoise::plugins::@name@
