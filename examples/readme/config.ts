import { ConfigProvider, Layer } from "effect"
import { Fleet } from "effect-fleet"

export const FleetLive = Fleet.layerConfig({ retry: Fleet.retrySchedule }).pipe(
  Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: { FLEETCTL_ENDPOINT: "http://127.0.0.1:49153" } })))
)
