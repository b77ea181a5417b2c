/**
 * undici's `Agent`, the dispatcher of `Fleet.layer` over TCP, HTTPS and unix sockets, loaded with `Fleet` as any
 * dependency is: a first `Fleet.layer` then costs what building an agent costs, as a first undici client does once
 * undici is imported. Its own file rather than undici's index, which loads all of undici (fetch, WebSocket, caches,
 * mocks: about 110 modules and twice the CPU time) for the one class these transports construct. undici has no
 * `exports` map, so the file is reachable; it ships no types for it (`undiciAgentModule.d.ts` declares them), and the
 * class is the one the index re-exports.
 */
import type * as Undici from "undici"
// typed by undiciAgentModule.d.ts
import AgentClass from "undici/lib/dispatcher/agent.js"

/**
 * undici's `Agent` class.
 *
 * @since 0.2.0
 * @internal
 */
export const Agent: typeof Undici.Agent = AgentClass
