/**
 * The channels of one SSH connection: opening them, and failing them when the connection drops.
 *
 * A channel may be handed to its reader as it is, or wrapped in a TLS socket for an `https://` endpoint. A wrapped
 * channel is read by Node's TLS layer, which forwards any "error" the channel emits to the TLS socket and throws it
 * there when nobody listens (between the handshake and undici taking the socket, or after undici let go of it).
 * So an error is only ever emitted on the outermost stream, the one the reader holds.
 */
import * as Effect from "effect/Effect"
import { Duplex } from "node:stream"
import type * as Ssh2 from "ssh2"
import { TunnelFailure } from "./tunnelFailure.ts"

const isSshChannel = (stream: Duplex): stream is Duplex & { close(): void } =>
  "close" in stream && typeof stream.close === "function"

/**
 * Closes a stream without an error. ssh2's own `destroy()` on a channel is a graceful close that may wait for the
 * peer, so a channel is sent its SSH close and then destroyed as a plain stream.
 *
 * @since 0.2.0
 * @internal
 */
export const close = (stream: Duplex): void => {
  if (stream.destroyed) return
  if (isSshChannel(stream)) {
    stream.close()
    Duplex.prototype.destroy.call(stream)
  } else stream.destroy()
}

// Failures that came before anyone listened, for whoever takes the stream next (see `failureOf`).
const unheard = new WeakMap<Duplex, Error>()

/**
 * Fails a stream with an error its reader sees. ssh2 may emit "close" for a destroyed channel at once, so the error
 * is emitted here, synchronously, before any "close" can reach the reader; then the stream is closed. A stream
 * nobody listens to yet (opened, not yet handed over) keeps the error for `failureOf` instead: emitted, it would be
 * thrown.
 *
 * @since 0.2.0
 * @internal
 */
export const fail = (stream: Duplex, error: Error): void => {
  if (stream.destroyed) return
  if (stream.listenerCount("error") > 0) stream.emit("error", error)
  else unheard.set(stream, error)
  close(stream)
}

/**
 * Why a stream can no longer be used, asked before handing it to its reader: the error it failed with before
 * anyone listened, or that it closed. `undefined` when it is usable.
 *
 * @since 0.2.0
 * @internal
 */
export const failureOf = (stream: Duplex): Error | undefined =>
  unheard.get(stream) ?? (stream.destroyed ? new TunnelFailure("The SSH channel closed before it was used") : undefined)

// The stream read from each wrapped channel; kept beside the channel so that whoever wraps it need not know which
// connection it belongs to.
const outerOf = new WeakMap<Duplex, Duplex>()

/**
 * Records that `socket` now reads `channel`; call it as soon as the wrapper exists, before any await.
 *
 * @since 0.2.0
 * @internal
 */
export const wrap = (channel: Duplex, socket: Duplex): void => {
  outerOf.set(channel, socket)
}

/**
 * The open channels of one SSH connection, so that requests in flight fail with a `TunnelFailure` when the
 * connection drops instead of waiting on, or misreading, a half-closed channel.
 *
 * @since 0.2.0
 * @internal
 */
export class ChannelSet {
  private readonly open = new Set<Duplex>()

  get size(): number {
    return this.open.size
  }

  add(channel: Duplex): void {
    this.open.add(channel)
    channel.once("close", () => this.open.delete(channel))
  }

  failAll(message: string): void {
    const channels = [...this.open]
    this.open.clear()
    for (const channel of channels) {
      const socket = outerOf.get(channel) ?? channel
      fail(socket, new TunnelFailure(message))
      if (socket !== channel) close(channel)
    }
  }
}

/**
 * Opens a channel with one of ssh2's channel requests. ssh2 cannot take a request back, so a channel granted after
 * the caller gave up is closed on arrival.
 *
 * @since 0.2.0
 * @internal
 */
export const request = (
  target: string,
  send: (done: (error: Error | undefined, channel: Ssh2.ClientChannel) => void) => void
): Effect.Effect<Ssh2.ClientChannel, TunnelFailure> =>
  Effect.callback((resume) => {
    let abandoned = false
    try {
      send((error, channel) => {
        if (abandoned) {
          if (error === undefined) close(channel)
          return
        }
        if (error)
          resume(Effect.fail(new TunnelFailure(`SSH channel to ${target} refused: ${error.message}`, { cause: error })))
        else resume(Effect.succeed(channel))
      })
    } catch (cause) {
      resume(
        Effect.fail(new TunnelFailure(`SSH channel to ${target} could not be opened: ${String(cause)}`, { cause }))
      )
    }
    return Effect.sync(() => {
      abandoned = true
    })
  })

/**
 * A `direct-tcpip` channel to `host:port` as seen from the SSH server.
 *
 * @since 0.2.0
 * @internal
 */
export const forwardTcp = (client: Ssh2.Client, host: string, port: number) =>
  request(`${host}:${port}`, (done) => client.forwardOut("127.0.0.1", 0, host, port, done))

/**
 * OpenSSH's `direct-streamlocal@openssh.com` channel to a unix socket on the SSH server.
 *
 * @since 0.2.0
 * @internal
 */
export const forwardStreamLocal = (client: Ssh2.Client, socketPath: string) =>
  request(socketPath, (done) => client.openssh_forwardOutStreamLocal(socketPath, done))
