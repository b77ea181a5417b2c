import * as fs from "node:fs"
import { Effect, Layer, Redacted } from "effect"
import { Endpoint, Fleet, FleetSsh, SshConnection } from "effect-fleet"
import { Client } from "ssh2"

// The common case: fleet on /var/run/fleet.sock of a cluster machine, reached over SSH as `core`, authenticating
// with ssh-agent (SSH_AUTH_SOCK) and then ~/.ssh/id_ed25519, id_ecdsa, id_rsa, and checking the host key against
// fleetctl's ~/.fleetctl/known_hosts.
export const tunnelled = Fleet.layer("unix:///var/run/fleet.sock", { sshTunnel: "198.51.100.23" })

// An HTTP endpoint as seen from the tunnel host, an explicit key, and new hosts accepted and recorded in
// fleetctl's format (a changed key is still refused).
export const explicit = Fleet.layer("http://127.0.0.1:49153", {
  sshTunnel: "[2001:db8::17]:2222",
  ssh: {
    username: "deploy",
    timeout: "5 seconds",
    privateKey: Redacted.make(fs.readFileSync("/etc/fleet/deploy.key")),
    passphrase: Redacted.make("correct horse battery staple"),
    knownHostsFile: "/etc/fleet/known_hosts",
    strictHostKeyChecking: "accept-new",
    // where the remote sshd forbids stream-local forwarding: fleetctl's own method
    unixSocketMethod: "fd-forward"
  }
})

// Advanced: an SSH connection you configured and own (python-fleet's ssh_raw_transport). connectClient connects it
// and waits for its "ready"; the library opens channels on it and never closes it. While the layer is open, an
// "error" of the client (a reset connection) fails the requests in flight; after it, the client is yours alone and
// needs a listener of its own, or ssh2 throws the error as an uncaught exception.
const ssh = new Client()
ssh.on("error", (error) => console.error(`ssh: ${error.message}`))
export const own = Layer.unwrap(
  Effect.as(
    SshConnection.connectClient(ssh, {
      host: "198.51.100.23",
      username: "core",
      privateKey: fs.readFileSync("/tmp/the.key")
    }),
    Fleet.layer("unix:///var/run/fleet.sock", { sshClient: ssh })
  )
)

// Composed by hand, NodeHttpClient's way: the SshConnection service (connect, host key, reconnect) and an
// HttpClient over whichever SshConnection is provided.
export const composed = Layer.unwrap(
  Effect.map(Endpoint.parse("unix:///var/run/fleet.sock"), (endpoint) =>
    Fleet.layerHttpClient({ baseUrl: endpoint.baseUrl }).pipe(
      Layer.provide(FleetSsh.layerNoConnection({ endpoint })),
      Layer.provide(SshConnection.layer({ tunnel: "198.51.100.23", strictHostKeyChecking: "accept-new" }))
    )
  )
)
