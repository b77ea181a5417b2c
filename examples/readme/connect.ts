import { Redacted } from "effect"
import { Fleet } from "effect-fleet"

// fleetd's default: the unix socket on a cluster machine (fleetctl's spelling)...
export const local = Fleet.layer("unix:///var/run/fleet.sock")
// ...or python-fleet's spelling of the same socket
export const localPython = Fleet.layer("http+unix://%2Fvar%2Frun%2Ffleet.sock")

// plain HTTP over TCP, with a shorter request timeout than the default 60 seconds
export const tcp = Fleet.layer("http://10.0.0.5:49153", { timeout: "10 seconds" })

// HTTPS through a TLS proxy: the server certificate is verified; a client certificate is optional
export const https = Fleet.layer("https://fleet.example.com", {
  ca: "-----BEGIN CERTIFICATE-----\n...",
  cert: "-----BEGIN CERTIFICATE-----\n...",
  key: Redacted.make("-----BEGIN PRIVATE KEY-----\n...")
})
