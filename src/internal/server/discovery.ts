/**
 * The Google API discovery document the local server answers at `/fleet/v1/discovery`, describing fleet's v1 API
 * (python-fleet builds its client from such a document).
 *
 * @since 0.1.0
 * @internal
 */

const pageTokenParameter = {
  type: "string",
  location: "query",
  description: "Token of the page to retrieve, as returned in the previous page's nextPageToken."
}

const unitNameParameter = { type: "string", required: true, location: "path", description: "Name of the unit." }

const document = {
  kind: "discovery#restDescription",
  discoveryVersion: "v1",
  id: "fleet:v1",
  name: "fleet",
  version: "v1",
  title: "fleet API",
  description: "Schedule and manage systemd units across a cluster of machines.",
  documentationLink: "https://github.com/coreos/fleet/blob/master/Documentation/api-v1.md",
  protocol: "rest",
  rootUrl: "$ENDPOINT/",
  servicePath: "fleet/v1/",
  basePath: "/fleet/v1/",
  baseUrl: "$ENDPOINT/fleet/v1/",
  batchPath: "batch",
  parameters: {
    alt: {
      type: "string",
      description: "Data format for the response.",
      default: "json",
      enum: ["json"],
      enumDescriptions: ["Responses with Content-Type of application/json"],
      location: "query"
    }
  },
  schemas: {
    Machine: {
      id: "Machine",
      type: "object",
      properties: {
        id: { type: "string" },
        primaryIP: { type: "string" },
        metadata: { type: "object", additionalProperties: { type: "string" } }
      }
    },
    MachinePage: {
      id: "MachinePage",
      type: "object",
      properties: {
        machines: { type: "array", items: { $ref: "Machine" } },
        nextPageToken: { type: "string" }
      }
    },
    UnitOption: {
      id: "UnitOption",
      type: "object",
      properties: { section: { type: "string" }, name: { type: "string" }, value: { type: "string" } }
    },
    Unit: {
      id: "Unit",
      type: "object",
      properties: {
        name: { type: "string" },
        options: { type: "array", items: { $ref: "UnitOption" } },
        desiredState: { type: "string", enum: ["inactive", "loaded", "launched"] },
        currentState: { type: "string", enum: ["inactive", "loaded", "launched"] },
        machineID: { type: "string" }
      }
    },
    UnitPage: {
      id: "UnitPage",
      type: "object",
      properties: { units: { type: "array", items: { $ref: "Unit" } }, nextPageToken: { type: "string" } }
    },
    UnitState: {
      id: "UnitState",
      type: "object",
      properties: {
        name: { type: "string" },
        hash: { type: "string" },
        machineID: { type: "string" },
        systemdLoadState: { type: "string" },
        systemdActiveState: { type: "string" },
        systemdSubState: { type: "string" }
      }
    },
    UnitStatePage: {
      id: "UnitStatePage",
      type: "object",
      properties: { states: { type: "array", items: { $ref: "UnitState" } }, nextPageToken: { type: "string" } }
    }
  },
  resources: {
    Machines: {
      methods: {
        List: {
          id: "fleet.Machine.List",
          description: "Retrieve a page of Machine objects.",
          httpMethod: "GET",
          path: "machines",
          parameters: { nextPageToken: pageTokenParameter },
          response: { $ref: "MachinePage" }
        }
      }
    },
    Units: {
      methods: {
        List: {
          id: "fleet.Unit.List",
          description: "Retrieve a page of Unit objects.",
          httpMethod: "GET",
          path: "units",
          parameters: { nextPageToken: pageTokenParameter },
          response: { $ref: "UnitPage" }
        },
        Get: {
          id: "fleet.Unit.Get",
          description: "Retrieve a single Unit object.",
          httpMethod: "GET",
          path: "units/{unitName}",
          parameters: { unitName: unitNameParameter },
          parameterOrder: ["unitName"],
          response: { $ref: "Unit" }
        },
        Delete: {
          id: "fleet.Unit.Delete",
          description: "Delete the referenced Unit object.",
          httpMethod: "DELETE",
          path: "units/{unitName}",
          parameters: { unitName: unitNameParameter },
          parameterOrder: ["unitName"]
        },
        Set: {
          id: "fleet.Unit.Set",
          description: "Create or update a Unit.",
          httpMethod: "PUT",
          path: "units/{unitName}",
          parameters: { unitName: unitNameParameter },
          parameterOrder: ["unitName"],
          request: { $ref: "Unit" }
        }
      }
    },
    UnitState: {
      methods: {
        List: {
          id: "fleet.UnitState.List",
          description: "Retrieve a page of UnitState objects.",
          httpMethod: "GET",
          path: "state",
          parameters: {
            nextPageToken: pageTokenParameter,
            unitName: { type: "string", location: "query", description: "Only states of this unit." },
            machineID: { type: "string", location: "query", description: "Only states on this machine." }
          },
          response: { $ref: "UnitStatePage" }
        }
      }
    }
  }
}

/**
 * The discovery document's text.
 *
 * @since 0.1.0
 * @internal
 */
export const discoveryJson: string = JSON.stringify(document, null, 2) + "\n"
