/**
 * The channels of one SSH connection and how they are failed when it drops.
 *
 * A channel may be handed to undici as it is, or wrapped in a TLS socket for an `https://` endpoint. A wrapped
 * channel is read by Node's TLS layer, which forwards any "error" the channel emits to the TLS socket and throws it
 * there when nobody listens (between the handshake and undici taking the socket, or after undici let go of it).
 * So an error is only ever emitted on the outermost stream, the one undici reads.
 */
import { Duplex } from "node:stream"
import { TunnelFailure } from "./tunnelFailure.ts"

const isSshChannel = (stream: Duplex): stream is Duplex & { close(): void } =>
  "close" in stream && typeof stream.close === "function"

/**
 * Closes a stream without an error. ssh2's own `destroy()` on a channel is a graceful close that may wait for the
 * peer, so a channel is sent its SSH close and then destroyed as a plain stream.
 */
export const close = (stream: Duplex): void => {
  if (stream.destroyed) return
  if (isSshChannel(stream)) {
    stream.close()
    Duplex.prototype.destroy.call(stream)
  } else stream.destroy()
}

/**
 * Fails a stream with an error its reader sees. ssh2 may emit "close" for a destroyed channel at once, so the error
 * is emitted here, synchronously, before any "close" can reach the reader; then the stream is closed.
 */
export const fail = (stream: Duplex, error: Error): void => {
  if (stream.destroyed) return
  if (stream.listenerCount("error") > 0) stream.emit("error", error)
  close(stream)
}

/**
 * The open channels of one SSH connection, so that requests in flight fail with a `TunnelFailure` when the
 * connection drops instead of waiting on, or misreading, a half-closed channel.
 */
export class ChannelSet {
  /** Each open channel and the stream undici reads from it: the channel itself, or the TLS socket around it. */
  private readonly outer = new Map<Duplex, Duplex>()

  get size(): number {
    return this.outer.size
  }

  add(channel: Duplex): void {
    this.outer.set(channel, channel)
    channel.once("close", () => this.outer.delete(channel))
  }

  /** Records that `socket` now reads `channel`; call it as soon as the wrapper exists, before any await. */
  wrap(channel: Duplex, socket: Duplex): void {
    if (this.outer.has(channel)) this.outer.set(channel, socket)
  }

  failAll(message: string): void {
    const entries = [...this.outer]
    this.outer.clear()
    for (const [channel, socket] of entries) {
      fail(socket, new TunnelFailure(message))
      if (socket !== channel) close(channel)
    }
  }
}
