/**
 * @since 0.1.0
 */

/**
 * APIError, ValueError and TransportError: the typed failures of every operation.
 *
 * @since 0.1.0
 */
export * as FleetError from "./FleetError.ts"

/**
 * fleet units, unit options and desired states: construction and immutable editing.
 *
 * @since 0.1.0
 */
export * as Unit from "./Unit.ts"

/**
 * What fleet's agents report about a unit on a machine.
 *
 * @since 0.1.0
 */
export * as UnitState from "./UnitState.ts"

/**
 * Cluster machines.
 *
 * @since 0.1.0
 */
export * as Machine from "./Machine.ts"

/**
 * go-systemd-compatible unit file parsing, serialization and hashing.
 *
 * @since 0.1.0
 */
export * as UnitFile from "./UnitFile.ts"

/**
 * Endpoint strings: `http://`, `https://`, `http+unix://` and `unix://`.
 *
 * @since 0.1.0
 */
export * as Endpoint from "./Endpoint.ts"

/**
 * The fleet client: operations, lazy listings, and layers that connect it.
 *
 * @since 0.1.0
 */
export * as Fleet from "./Fleet.ts"

/**
 * The types of the client's signatures: the service shape, pages, filters and layer options.
 *
 * @since 0.2.0
 */
export * as FleetOptions from "./FleetOptions.ts"

/**
 * Watching unit states and waiting for a unit to reach a state, by polling.
 *
 * @since 0.2.0
 */
export * as FleetWatch from "./FleetWatch.ts"

/**
 * HttpClient layers for TCP, HTTPS and unix sockets.
 *
 * @since 0.1.0
 */
export * as FleetTransport from "./FleetTransport.ts"

/**
 * SSH tunnel transports: fleet behind `direct-tcpip`, `direct-streamlocal` or `fleetctl fd-forward` channels.
 *
 * @since 0.1.0
 */
export * as FleetSsh from "./FleetSsh.ts"

/**
 * An SSH connection as a service: connect, check the host key, authenticate, open channels, reconnect after a drop.
 *
 * @since 0.2.0
 */
export * as SshConnection from "./SshConnection.ts"

/**
 * A local fleet server: the whole fleet v1 API over an in-memory fleet, on a loopback port or a unix socket.
 *
 * @since 0.1.0
 */
export * as FleetServer from "./FleetServer.ts"

/**
 * Seeding, fault injection and observation of a local fleet (the server or the test layer).
 *
 * @since 0.1.0
 */
export * as FleetControl from "./FleetControl.ts"

/**
 * The test layer: the Fleet service over an in-memory fleet, no sockets.
 *
 * @since 0.1.0
 */
export * as FleetTest from "./FleetTest.ts"

/**
 * Operations over many units with fleetctl's semantics: submit (local files, template instances), load, start,
 * stop, unload, restart, destroy with fleetctl's waiting, and a many-unit wait that reports every failure.
 *
 * @since 0.2.0
 */
export * as FleetUnits from "./FleetUnits.ts"

/**
 * The errors, progress events and options of `FleetUnits`' operations.
 *
 * @since 0.2.0
 */
export * as FleetUnitsModel from "./FleetUnitsModel.ts"
