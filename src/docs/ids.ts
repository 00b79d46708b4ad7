import { nanoid } from "nanoid";

// Branded strings: an order id cannot be passed where a user id is expected.
export type UserId = string & { readonly __brand: "UserId" };
export type OrganizationId = string & { readonly __brand: "OrganizationId" };
/** The automerge-repo document id (the part of an `automerge:` URL after the scheme). */
export type DocId = string & { readonly __brand: "DocId" };
export type LineItemId = string & { readonly __brand: "LineItemId" };
export type RequestId = string & { readonly __brand: "RequestId" };
export type MessageId = string & { readonly __brand: "MessageId" };
export type AddressId = string & { readonly __brand: "AddressId" };

/** Ids we mint: 21 URL-safe characters, 126 random bits. */
export const newLineItemId = (): LineItemId => nanoid() as LineItemId;
export const newRequestId = (): RequestId => nanoid() as RequestId;
export const newMessageId = (): MessageId => nanoid() as MessageId;

export const asUserId = (s: string): UserId => s as UserId;
export const asOrganizationId = (s: string): OrganizationId => s as OrganizationId;
export const asDocId = (s: string): DocId => s as DocId;
