/**
 * TLS for an `https://` endpoint behind the tunnel: run inside the channel, end to end with fleet, the way undici's
 * own connector would over TCP.
 */
import * as Effect from "effect/Effect"
import type { Duplex } from "node:stream"
import * as tls from "node:tls"
import type { TlsOptions } from "../../FleetTransport.ts"
import * as Tls from "../client/tls.ts"
import * as Channel from "./channel.ts"

/**
 * Starts TLS over the channel and waits for the handshake. The TLS socket is recorded as the channel's reader as
 * soon as it exists, so that a dropped connection fails it rather than the channel underneath. A refused handshake
 * fails with the TLS error (a certificate problem is not a tunnel problem) and closes the channel.
 *
 * @since 0.2.0
 * @internal
 */
export const secure = (channel: Duplex, host: string, options: TlsOptions | undefined): Effect.Effect<Duplex, Error> =>
  Effect.callback((resume) => {
    const socket = tls.connect({
      ...Tls.connectionOptions(options, host),
      socket: channel,
      ALPNProtocols: ["http/1.1"]
    })
    Channel.wrap(channel, socket)
    const onError = (error: Error) => {
      Channel.close(channel)
      resume(Effect.fail(error))
    }
    socket.once("error", onError)
    socket.once("secureConnect", () => {
      socket.off("error", onError)
      resume(Effect.succeed(socket))
    })
    channel.once("close", () => socket.destroy())
    return Effect.sync(() => {
      socket.off("error", onError)
      socket.destroy()
      Channel.close(channel)
    })
  })
