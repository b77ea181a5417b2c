/**
 * The `effect-fleet` command line: `effect-fleet serve` runs a local fleet server (the whole fleet v1 API over an
 * in-memory fleet) on a loopback TCP port and/or a unix socket until SIGINT or SIGTERM.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Cause from "effect/Cause"
import * as Command from "effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Runtime from "effect/Runtime"
import { serve } from "./cli/serve.ts"

const cli = Command.make("effect-fleet").pipe(
  Command.withDescription("Tools for the CoreOS fleet v1 API"),
  Command.withSubcommands([serve]),
  Command.run({ version: "0.1.0" })
)

cli.pipe(
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain({
    // A signal is how `serve` is meant to stop: exit 0 once the server and its socket are gone.
    teardown: (exit, onExit) =>
      Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)
  })
)
