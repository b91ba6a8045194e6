'use strict';
// Strict validation of Kubernetes objects against the API's OpenAPI schemas,
// offline.
//
// kubernetes-models ships the Kubernetes 1.27 OpenAPI definitions as JSON
// schemas and validates with ajv. The OpenAPI definitions do not forbid
// unknown properties, so a misspelled field (terminationGracePeriodSecond)
// would pass; the API server rejects it (kubectl apply --validate=strict) or
// silently drops it. We close every object schema that lists its properties
// before it is registered, so an unknown field is an error here too.
//
// Version 4.3.1 is pinned in package.json: it is the newest release whose
// schema modules still hand plain JSON schemas to register(), which we wrap.

const validateLib = require('@kubernetes-models/validate');

// Adds additionalProperties: false to every object schema that declares its
// properties and says nothing about others. Maps (labels, resources.limits)
// declare additionalProperties themselves and are left alone.
function closeObjects(schema) {
  if (Array.isArray(schema)) {
    return schema.map(closeObjects);
  }
  if (schema === null || typeof schema !== 'object') {
    return schema;
  }
  const closed = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'enum' || key === 'required') {
      closed[key] = value;
    } else if (key === 'properties') {
      closed[key] = Object.fromEntries(
        Object.entries(value).map(([name, sub]) => [name, closeObjects(sub)]));
    } else {
      closed[key] = closeObjects(value);
    }
  }
  if (closed.properties && !('additionalProperties' in closed)) {
    closed.additionalProperties = false;
  }
  return closed;
}

// The schema modules call register through the module object at run time, so
// replacing the export here wraps every later registration.
const register = validateLib.register;
validateLib.register = (id, schema) => register(id, closeObjects(schema));

// kubernetes-models keeps the schema id and its loader on each model class
// under these symbols (see @kubernetes-models/base setSchema).
function schemaOf(modelClass) {
  const symbols = Object.getOwnPropertySymbols(modelClass.prototype);
  const find = (name) => {
    const symbol = symbols.find((s) => s.description === name);
    return symbol === undefined ? undefined : modelClass.prototype[symbol];
  };
  return { id: find('SCHEMA_ID'), addSchema: find('ADD_SCHEMA') };
}

function modelClass(apiVersion, kind) {
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
    return undefined;
  }
  let group;
  try {
    group = require(`kubernetes-models/${apiVersion}`);
  } catch (error) {
    if (error.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED' ||
        error.code === 'MODULE_NOT_FOUND') {
      return undefined;
    }
    throw error;
  }
  return Object.hasOwn(group, kind) ? group[kind] : undefined;
}

function describe(error) {
  const where = error.instancePath === '' ? '/' : error.instancePath;
  if (error.keyword === 'additionalProperties') {
    return `${where}: unknown field "${error.params.additionalProperty}"`;
  }
  if (error.keyword === 'enum') {
    return `${where} ${error.message}: ${error.params.allowedValues.join(', ')}`;
  }
  return `${where} ${error.message}`;
}

// Returns the schema errors of one object as strings; [] when it is valid.
function schemaErrors(object) {
  if (object === null || typeof object !== 'object' || Array.isArray(object)) {
    return ['/ must be an object'];
  }
  const model = modelClass(object.apiVersion, object.kind);
  if (model === undefined) {
    return [`/: unknown apiVersion/kind ${object.apiVersion}/${object.kind}`];
  }
  const { id, addSchema } = schemaOf(model);
  addSchema();
  try {
    validateLib.validate(id, object);
  } catch (error) {
    if (!Array.isArray(error.errors)) {
      throw error;
    }
    // oneOf reports its own summary besides the branch errors; the branch
    // errors say more.
    const details = error.errors.filter((e) => e.keyword !== 'oneOf');
    const shown = details.length > 0 ? details : error.errors;
    return [...new Set(shown.map(describe))];
  }
  return [];
}

module.exports = { schemaErrors, closeObjects };
