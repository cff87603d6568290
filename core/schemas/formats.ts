import { FormatRegistry } from '@sinclair/typebox';

/**
 * String formats the schemas use. TypeBox's compiler knows no format by itself (an unknown
 * format fails every check), while fastify's Ajv knows them through ajv-formats; registering
 * them here keeps both validators in agreement.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

if (!FormatRegistry.Has('uuid')) FormatRegistry.Set('uuid', (value) => UUID.test(value));
