/**
 * Where the CLI writes and how it exits: a service, so that tests run commands in-process and read exactly the
 * bytes fleetctl would have written to stdout and stderr.
 *
 * @internal
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

export interface CliIOService {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  /** Whether stdout is a terminal (progress is drawn there; plain lines otherwise). */
  readonly isTTY: boolean
  /** The exit code the process ends with once the command is done. */
  exitCode: number
}

export class CliIO extends Context.Service<CliIO, CliIOService>()("effect-fleet/cli/CliIO") {}

/** The process's own streams. */
export const layerProcess: Layer.Layer<CliIO> = Layer.sync(CliIO, () =>
  CliIO.of({
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    isTTY: process.stdout.isTTY === true,
    exitCode: 0
  })
)

/** In-memory streams, for tests. */
export const makeCapture = (isTTY = false): CliIOService & { out: string; err: string } => {
  const io = {
    out: "",
    err: "",
    isTTY,
    exitCode: 0,
    stdout: (text: string) => {
      io.out += text
    },
    stderr: (text: string) => {
      io.err += text
    }
  }
  return io
}

// fleetctl's stdout()/stderr() add a newline unless the text already ends in one.
const withNewline = (text: string): string => (text.endsWith("\n") ? text : `${text}\n`)

export const out = (text: string): Effect.Effect<void, never, CliIO> =>
  CliIO.useSync((io) => io.stdout(withNewline(text)))

export const err = (text: string): Effect.Effect<void, never, CliIO> =>
  CliIO.useSync((io) => io.stderr(withNewline(text)))

/** Raw bytes to stdout, no newline added (fleetctl's `fmt.Print`). */
export const write = (text: string): Effect.Effect<void, never, CliIO> => CliIO.useSync((io) => io.stdout(text))

export const exit = (code: number): Effect.Effect<void, never, CliIO> =>
  CliIO.useSync((io) => {
    io.exitCode = code
  })
