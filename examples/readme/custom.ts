import { Effect, Layer } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import { Fleet, FleetTransport } from "effect-fleet"

// Add a header to every request (a proxy's token, say) on top of the unix-socket transport.
const withToken = Layer.effect(
  HttpClient.HttpClient,
  Effect.map(
    Effect.service(HttpClient.HttpClient),
    HttpClient.mapRequest(HttpClientRequest.setHeader("x-proxy-token", "secret"))
  )
).pipe(Layer.provide(FleetTransport.layerUnix("/var/run/fleet.sock")))

export const fleet = Fleet.layerHttpClient({ baseUrl: "http://localhost" }).pipe(Layer.provide(withToken))
