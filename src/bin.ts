/**
 * The `effect-fleet` command line: fleetctl's commands against the fleet v1 API (see `src/cli/`), and
 * `effect-fleet serve`, a local fleet server on a loopback TCP port and/or a unix socket until SIGINT or SIGTERM.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import { CliIO } from "./cli/io.ts"
import { run } from "./cli/main.ts"

const io = CliIO.of({
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  isTTY: process.stdout.isTTY === true,
  exitCode: 0
})

run(process.argv.slice(2)).pipe(
  Effect.provide(Layer.mergeAll(NodeServices.layer, Layer.succeed(CliIO, io))),
  NodeRuntime.runMain({
    teardown: (exit, onExit) => {
      // A signal is how `serve` is meant to stop: exit 0 once the server and its socket are gone.
      if (Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)) return onExit(0)
      if (Exit.isSuccess(exit)) return onExit(io.exitCode)
      return Runtime.defaultTeardown(exit, onExit)
    }
  })
)
