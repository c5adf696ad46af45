import { createRequire } from 'node:module';
import type AjvCompilerModule from '@fastify/ajv-compiler';
import type SerializerSelectorModule from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';

// Fastify compiles every route's validation (ajv) and response serialization
// (fast-json-stringify) while it boots: about half a second of a start on
// this machine, for routes most of which a given process never serves. These
// factories hand Fastify its own default compilers, but each route's
// function is compiled on its first call, so a process is ready sooner.
// Behaviour is otherwise Fastify's: same ajv options, same errors, same
// serializers. One difference: Fastify treats a factory given here as a
// custom compiler and so no longer lower-cases the names in `headers`
// schemas; no route of ours declares one (write header names in lower case
// if one ever does). A schema that does not compile fails its first request
// instead of the start, which is why `eager` exists and defaults to on
// under NODE_ENV=test (Vitest sets it): every server a test builds compiles
// all its schemas at boot, so a bad schema still fails the tests. Even
// loading ajv and its friends takes a few hundred milliseconds, so they are
// required on first use too.

const require = createRequire(import.meta.url);
const loadAjvCompiler = () => require('@fastify/ajv-compiler') as typeof AjvCompilerModule;
const loadSerializerSelector = () =>
  require('@fastify/fast-json-stringify-compiler') as typeof SerializerSelectorModule;

type SchemaController = NonNullable<FastifyServerOptions['schemaController']>;
type Factories = NonNullable<SchemaController['compilersFactory']>;
type BuildValidator = NonNullable<Factories['buildValidator']>;
type BuildSerializer = NonNullable<Factories['buildSerializer']>;

type Validate = ((data: unknown) => unknown) & { errors?: unknown };

/** A validator that compiles on its first call and then behaves as the compiled one. */
function lazyValidator(compile: () => Validate): Validate {
  let compiled: Validate | undefined;
  const validate: Validate = (data) => {
    compiled ??= compile();
    const result = compiled(data);
    // Fastify reads `.errors` off the function it called, right after a false.
    validate.errors = compiled.errors;
    return result;
  };
  return validate;
}

function lazySerializer(compile: () => (data: unknown) => string): (data: unknown) => string {
  let compiled: ((data: unknown) => string) | undefined;
  return (data) => {
    compiled ??= compile();
    return compiled(data);
  };
}

/**
 * Fastify's `schemaController` option with its default compilers, compiled
 * per route on first use (or, with `eager`, when Fastify asks, as by default).
 */
export function lazySchemaController(options: { eager?: boolean } = {}): SchemaController {
  const eager = options.eager ?? process.env.NODE_ENV === 'test';
  let validators: BuildValidator | undefined;
  let serializers: BuildSerializer | undefined;
  const buildValidator: BuildValidator = (externalSchemas, ajvOptions) => {
    let compiler: ReturnType<BuildValidator> | undefined;
    const compilerOf = () => {
      validators ??= loadAjvCompiler()() as BuildValidator;
      compiler ??= validators(externalSchemas, ajvOptions);
      return compiler;
    };
    return (route) =>
      eager
        ? compilerOf()(route)
        : (lazyValidator(() => compilerOf()(route) as Validate) as ReturnType<
            ReturnType<BuildValidator>
          >);
  };
  const buildSerializer: BuildSerializer = (externalSchemas, serializerOptions) => {
    let compiler: ReturnType<BuildSerializer> | undefined;
    const compilerOf = () => {
      serializers ??= loadSerializerSelector()() as BuildSerializer;
      compiler ??= serializers(externalSchemas, serializerOptions);
      return compiler;
    };
    return (route) => (eager ? compilerOf()(route) : lazySerializer(() => compilerOf()(route)));
  };
  return { compilersFactory: { buildValidator, buildSerializer } };
}
