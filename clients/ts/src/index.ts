/** `@chainvm/client`: a TypeScript client for chainvm nodes. */
export * from "./encoding.js";
export * from "./keys.js";
export * from "./transactions.js";
export * from "./abi.js";
export * from "./receipts.js";
export * from "./rpc.js";
export * from "./errors.js";
export * from "./client.js";
export * from "./typed.js";
export * from "./bindings.js";
