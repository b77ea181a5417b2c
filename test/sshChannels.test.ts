/**
 * How the channels of an SSH connection are failed when it drops. A channel is modelled by one end of an in-process
 * duplex pair; what matters here is Node's real TLS layer on top of it, which is what turned a dropped connection
 * into an uncaught exception when the error was emitted on the channel instead of the TLS socket around it.
 */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { type Duplex, duplexPair } from "node:stream"
import * as tls from "node:tls"
import { ChannelSet, wrap } from "../src/internal/ssh/channel.ts"
import { isTunnelFailure } from "../src/internal/ssh/tunnelFailure.ts"
import { makePki, type Pki } from "./support/tls.ts"

let pki: Pki
beforeAll(() => {
  pki = makePki()
})

const closed = (stream: Duplex) =>
  Effect.promise(
    () => new Promise<void>((resolve) => (stream.closed ? resolve() : stream.once("close", () => resolve())))
  )

/**
 * One end of a duplex pair that closes like an ssh2 channel: `destroy()` is ssh2's graceful close (end, then an SSH
 * close message), and the stream stays open until the peer's close comes back, which here is never.
 */
const sshLikeChannel = () => {
  const [channel, far] = duplexPair()
  const closes: Array<string> = []
  Object.assign(channel, {
    close: () => closes.push("close"),
    destroy(this: Duplex) {
      this.end()
      closes.push("close")
      return this
    }
  })
  return { channel, far, closes }
}

/**
 * A channel with a TLS server at its far end, and a TLS client over it recorded in a channel set, as the tunnel
 * opens an `https://` endpoint.
 */
const tlsOverChannel = (ca: string) => {
  const { channel, far } = sshLikeChannel()
  const server = new tls.TLSSocket(far, { isServer: true, cert: pki.serverCert, key: pki.serverKey })
  server.on("error", () => {})
  const client = tls.connect({ socket: channel, ca, servername: "localhost" })
  const channels = new ChannelSet()
  channels.add(channel)
  wrap(channel, client)
  return { channel, channels, client }
}

const secureConnect = (client: tls.TLSSocket) =>
  Effect.promise(() => new Promise((resolve) => client.once("secureConnect", resolve)))

/** Each error as whether it is a TunnelFailure, and its message. */
const described = (errors: ReadonlyArray<unknown>) =>
  errors.map((error) => [isTunnelFailure(error), (error as Error).message])

describe("ChannelSet.failAll", () => {
  it.effect("fails a plain channel with a TunnelFailure its reader sees, then closes it", () =>
    Effect.gen(function* () {
      const { channel, closes } = sshLikeChannel()
      const channels = new ChannelSet()
      channels.add(channel)
      const errors: Array<unknown> = []
      channel.on("error", (error) => errors.push(error))
      channels.failAll("SSH connection to 127.0.0.1:22 was lost")
      yield* closed(channel)
      expect(described(errors)).toEqual([[true, "SSH connection to 127.0.0.1:22 was lost"]])
      expect(closes).toEqual(["close"])
      expect(channels.size).toBe(0)
    })
  )

  it.effect("fails the TLS socket undici reads, not the channel under it", () =>
    Effect.gen(function* () {
      const { channel, channels, client } = tlsOverChannel(pki.ca)
      yield* secureConnect(client)
      const errors: Array<unknown> = []
      client.on("error", (error) => errors.push(error))
      channels.failAll("SSH connection to 127.0.0.1:22 was lost")
      yield* closed(client)
      yield* closed(channel)
      expect(described(errors)).toEqual([[true, "SSH connection to 127.0.0.1:22 was lost"]])
      expect(channels.size).toBe(0)
    })
  )

  it.effect("does not throw when nobody listens on the TLS socket (after the handshake, before undici)", () =>
    Effect.gen(function* () {
      const { channel, channels, client } = tlsOverChannel(pki.ca)
      yield* secureConnect(client)
      expect(client.listenerCount("error")).toBe(0)
      expect(() => channels.failAll("SSH connection to 127.0.0.1:22 was closed by the server")).not.toThrow()
      yield* closed(client)
      yield* closed(channel)
    })
  )

  it.effect("closes, without an error, the channel of a refused handshake that is still closing", () =>
    Effect.gen(function* () {
      const { channel, channels, client } = tlsOverChannel(pki.otherCa)
      const refused = yield* Effect.promise(() => new Promise<Error>((resolve) => client.once("error", resolve)))
      expect(refused.message).toMatch(/certificate/)
      expect(client.listenerCount("error")).toBe(0)
      expect(channel.destroyed).toBe(false)
      expect(() => channels.failAll("The SSH tunnel is closed")).not.toThrow()
      yield* closed(channel)
    })
  )

  it("wrap after the channel closed does not bring it back", () => {
    const [channel] = duplexPair()
    const channels = new ChannelSet()
    channels.add(channel)
    channel.destroy()
    return new Promise<void>((resolve) =>
      channel.once("close", () => {
        wrap(channel, channel)
        expect(channels.size).toBe(0)
        resolve()
      })
    )
  })
})
