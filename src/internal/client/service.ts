/**
 * The client's shape, declared in the public `FleetOptions` so that the modules written against it (the watch, the
 * pipeline) import neither `Fleet.ts` nor anything internal to name it.
 */
export type { FleetService, Page, UnitStateFilter } from "../../FleetOptions.ts"
