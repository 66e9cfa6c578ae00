// The playground's docs pane is what integrators read: every type, field, argument, input
// field and enum value of the schema the gateway serves has a description.
import { describe, expect, it } from 'vitest';
import { buildSchema, isEnumType, isInputObjectType, isInterfaceType, isObjectType, isScalarType, isSpecifiedScalarType } from 'graphql';
import { apiSchemaSdl, composeSupergraph } from './compose.ts';

describe('the supergraph documents itself', () => {
  it('describes every type, field, argument and enum value clients see', () => {
    const apiSchema = buildSchema(apiSchemaSdl(composeSupergraph().supergraphSdl));
    const missing: string[] = [];
    for (const type of Object.values(apiSchema.getTypeMap())) {
      if (type.name.startsWith('__') || (isScalarType(type) && isSpecifiedScalarType(type))) continue;
      if (!type.description && type !== apiSchema.getQueryType() && type !== apiSchema.getMutationType()) missing.push(type.name);
      if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
        for (const field of Object.values(type.getFields())) {
          if (!field.description) missing.push(`${type.name}.${field.name}`);
          for (const arg of 'args' in field ? field.args : []) if (!arg.description) missing.push(`${type.name}.${field.name}(${arg.name})`);
        }
      }
      if (isEnumType(type)) for (const value of type.getValues()) if (!value.description) missing.push(`${type.name}.${value.name}`);
    }
    expect(missing).toEqual([]);
  });
});
