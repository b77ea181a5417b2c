/**
 * The SSH connection behind a layer: made on first use, shared by every channel, made again (host key re-checked)
 * by the first use after it dropped, ended when the scope closes.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import type * as Ssh2 from "ssh2"
import { ChannelSet } from "./channel.ts"
import { TunnelFailure } from "./tunnelFailure.ts"

/**
 * A live connection and the channels opened on it.
 *
 * @since 0.2.0
 * @internal
 */
export interface Connection {
  readonly client: Ssh2.Client
  readonly channels: ChannelSet
}

/**
 * The connection as a cached Effect, reset when the connection drops so that the next `get` connects again.
 *
 * @since 0.2.0
 * @internal
 */
export interface Tunnel {
  /** The live connection, connecting first when there is none; concurrent callers share one attempt. */
  readonly get: Effect.Effect<Connection, TunnelFailure>
}

// How long a closing connection may take to say goodbye before its socket is destroyed.
const closeGraceMs = 2000

const end = (client: Ssh2.Client): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    const timer = setTimeout(() => {
      client.destroy()
      resume(Effect.void)
    }, closeGraceMs)
    client.once("close", () => {
      clearTimeout(timer)
      resume(Effect.void)
    })
    client.end()
  })

/**
 * `name` is the server as messages name it; `connect` is one attempt, which tells `opened` of its client as soon as
 * the client exists (see `Connect.connect`).
 *
 * @since 0.2.0
 * @internal
 */
export const make = (
  name: string,
  connect: (opened: (client: Ssh2.Client) => void) => Effect.Effect<Ssh2.Client, TunnelFailure>
): Effect.Effect<Tunnel, never, Scope.Scope> =>
  Effect.gen(function* () {
    const lock = yield* Semaphore.make(1)
    let current: Connection | undefined
    let closed = false

    const drop = (connection: Connection, reason: string) => {
      if (current === connection) current = undefined
      connection.channels.failAll(reason)
    }
    const attach = (client: Ssh2.Client): Connection => {
      const connection: Connection = { client, channels: new ChannelSet() }
      client.on("error", (error: Error) => drop(connection, `SSH connection to ${name} failed: ${error.message}`))
      client.once("end", () => drop(connection, `SSH connection to ${name} was closed by the server`))
      client.once("close", () => drop(connection, `SSH connection to ${name} was lost`))
      current = connection
      return connection
    }
    const isClosed = Effect.fail(new TunnelFailure("The SSH tunnel is closed"))

    const connectOnce = Effect.suspend(() => {
      if (closed) return isClosed
      if (current !== undefined) return Effect.succeed(current)
      // The client from the moment it exists: interrupted after `connect` succeeded and before `attach`, nothing
      // else holds it (the fiber may yield in between), so it is ended here.
      let made: Ssh2.Client | undefined
      return Effect.flatMap(
        connect((client) => {
          made = client
        }),
        (client) =>
          // The scope closed while connecting: nobody will release this connection but us.
          closed ? Effect.andThen(end(client), isClosed) : Effect.succeed(attach(client))
      ).pipe(
        Effect.onInterrupt(() =>
          Effect.sync(() => {
            if (made !== undefined && current?.client !== made) made.destroy()
          })
        )
      )
    })
    const get = Effect.suspend(() => {
      if (closed) return isClosed
      return current !== undefined ? Effect.succeed(current) : lock.withPermit(connectOnce)
    })
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        closed = true
        const connection = current
        current = undefined
        if (connection === undefined) return Effect.void
        // The HTTP layer closed its own channels first; what is left here is only channels still being closed.
        connection.channels.failAll("The SSH tunnel is closed")
        return end(connection.client)
      })
    )
    return { get }
  })
