import type { OrganizationId } from "./ids.js";
import { SCHEMA_VERSION } from "./kinds.js";
import type { Organization } from "./types.js";

export function createOrganization(input: {
  organization: OrganizationId;
  name: string;
  priceListVersion?: string;
}): Organization {
  return {
    kind: "organization",
    schemaVersion: SCHEMA_VERSION,
    organization: input.organization,
    name: input.name,
    addresses: {},
    priceListVersion: input.priceListVersion ?? "",
    members: {},
  };
}
