// The timetable plugin: registration of its routes, its generation job and
// the functions it offers to the school's scripts. Uses the SDK only, and
// the engine (plugins/timetable/engine) through its header.
#include "timetable.hpp"

namespace ardoise::plugins::timetable {

namespace {

class TimetablePlugin : public Plugin {
public:
    Status registerWith(PluginContext& context) override {
        std::vector<Route> routes = modelRoutes();
        for (auto* more : {&scheduleRoutes, &exportRoutes, &importRoutes}) {
            for (auto& r : (*more)()) {
                routes.push_back(std::move(r));
            }
        }
        for (auto& r : routes) {
            if (auto s = context.addRoute(std::move(r)); !s.isOk()) {
                return s;
            }
        }
        if (auto s = context.addJob("generate", runGeneration); !s.isOk()) {
            return s;
        }
        for (auto& fn : luaFunctions()) {
            if (auto s = context.exportFunction(std::move(fn)); !s.isOk()) {
                return s;
            }
        }
        return Status::ok();
    }
};

}  // namespace

}  // namespace ardoise::plugins::timetable

ARDOISE_PLUGIN(ardoise::plugins::timetable::TimetablePlugin, "timetable", "1.0.0")
