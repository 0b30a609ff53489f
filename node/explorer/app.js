// Placeholder: the explorer's module (replaced by the web helper's version).
export {};
