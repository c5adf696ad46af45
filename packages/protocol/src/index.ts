// Filled by a later issue (see `issues`); the package exists so the workspace has its final shape.
export {};
