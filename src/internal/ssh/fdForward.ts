/**
 * fleetctl's way to a unix socket on the tunnel host when stream-local forwarding is off: `fleetctl fd-forward
 * <socket>` in an exec channel, its stdin and stdout spliced to the socket.
 */
import type * as Effect from "effect/Effect"
import type * as Ssh2 from "ssh2"
import * as Channel from "./channel.ts"
import { TunnelFailure } from "./tunnelFailure.ts"

const shellQuote = (word: string) => (/^[A-Za-z0-9_./@%+=:,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`)

/**
 * The command as messages name it.
 *
 * @since 0.2.0
 * @internal
 */
export const describe = (socketPath: string): string => `fleetctl fd-forward ${socketPath}`

/**
 * OpenSSH sends a command's end of output before its exit status. Handing the reader that end first would turn a
 * failed `fleetctl fd-forward` into a bare "other side closed", so the end waits for a zero status, or for the
 * channel to close (ssh2 ends a channel's output before it closes it, and calls `close()` either way): a channel
 * closed by the reader, or by a server that sends no status, must still end. A non-zero status fails the channel
 * with fleetctl's stderr (sent before the status).
 */
const watchExit = (channel: Ssh2.ClientChannel, failure: (code: number | null, stderr: string) => TunnelFailure) => {
  let stderr = ""
  // fleetctl's diagnostics arrive on stderr; an unread stderr would hold the channel's window shut.
  channel.stderr.on("data", (chunk: Buffer) => {
    if (stderr.length < 2048) stderr += chunk.toString("utf8")
  })
  let released = false
  let held = false
  const push = channel.push.bind(channel)
  const release = () => {
    if (released) return
    released = true
    if (held && !channel.destroyed) push(null)
  }
  channel.push = (chunk: unknown, encoding?: BufferEncoding) => {
    if (chunk === null && !released) {
      held = true
      return false
    }
    return push(chunk, encoding)
  }
  const close = channel.close.bind(channel)
  channel.close = () => {
    release()
    return close()
  }
  channel.once("exit", (code: number | null) => {
    if (code === 0) return release()
    // The failure ends the stream; an end of output after it would reach a reader that already let go.
    released = true
    // stderr that arrived with the status may still sit in its buffer (the stream starts flowing a tick after its
    // "data" listener is added); read() hands it to that listener now.
    channel.stderr.read()
    Channel.fail(channel, failure(code, stderr))
  })
}

/**
 * Runs `fleetctl fd-forward` on the tunnel host; a non-zero exit fails the channel with fleetctl's stderr.
 *
 * @since 0.2.0
 * @internal
 */
export const open = (client: Ssh2.Client, socketPath: string): Effect.Effect<Ssh2.ClientChannel, TunnelFailure> => {
  const target = describe(socketPath)
  return Channel.request(target, (done) =>
    client.exec(`fleetctl fd-forward ${shellQuote(socketPath)}`, (error, channel) => {
      if (error) return done(error, channel)
      watchExit(channel, (code, stderr) => {
        const detail = stderr.trim() === "" ? "" : `: ${stderr.trim()}`
        return new TunnelFailure(`${target} on the tunnel host exited with code ${code}${detail}`)
      })
      done(undefined, channel)
    })
  )
}
