/**
 * fleetctl's way to a unix socket on the tunnel host when stream-local forwarding is off: `fleetctl fd-forward
 * <socket>` in an exec channel, its stdin and stdout spliced to the socket.
 */
import type * as Effect from "effect/Effect"
import type * as Ssh2 from "ssh2"
import * as Channel from "./channel.ts"
import { TunnelFailure } from "./tunnelFailure.ts"

const shellQuote = (word: string) => (/^[A-Za-z0-9_./@%+=:,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`)

/** The command as messages name it. */
export const describe = (socketPath: string): string => `fleetctl fd-forward ${socketPath}`

/**
 * OpenSSH sends a command's end of output before its exit status. Handing the reader that end first would turn a
 * failed `fleetctl fd-forward` into a bare "other side closed", so the end waits for the status (or the close).
 */
const holdEofUntilExit = (channel: Ssh2.ClientChannel, onExit: (code: number | null) => void) => {
  let exited = false
  let held = false
  const push = channel.push.bind(channel)
  channel.push = (chunk: unknown, encoding?: BufferEncoding) => {
    if (chunk === null && !exited && !held) {
      held = true
      return false
    }
    return push(chunk, encoding)
  }
  channel.once("exit", (code: number | null) => {
    exited = true
    onExit(code)
    if (held && !channel.destroyed) push(null)
  })
}

/** Runs `fleetctl fd-forward` on the tunnel host; a non-zero exit fails the channel with fleetctl's stderr. */
export const open = (client: Ssh2.Client, socketPath: string): Effect.Effect<Ssh2.ClientChannel, TunnelFailure> => {
  const target = describe(socketPath)
  return Channel.request(target, (done) =>
    client.exec(`fleetctl fd-forward ${shellQuote(socketPath)}`, (error, channel) => {
      if (error) return done(error, channel)
      // fleetctl's diagnostics arrive on stderr; an unread stderr would hold the channel's window shut.
      let stderr = ""
      channel.stderr.on("data", (chunk: Buffer) => {
        if (stderr.length < 2048) stderr += chunk.toString("utf8")
      })
      holdEofUntilExit(channel, (code) => {
        if (code === 0) return
        const detail = stderr.trim() === "" ? "" : `: ${stderr.trim()}`
        Channel.fail(channel, new TunnelFailure(`${target} on the tunnel host exited with code ${code}${detail}`))
      })
      done(undefined, channel)
    })
  )
}
