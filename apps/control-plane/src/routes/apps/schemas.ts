import Type from 'typebox';
import { Uuid } from '../../lib/schemas.ts';

export const AppName = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' });

export const AppBody = Type.Object({ name: AppName }, { additionalProperties: false });

// Spelled out so that the types know the names; the test of POST /v1/apps
// creates an app from every name in TEMPLATE_NAMES.
export const TemplateName = Type.Union(
  [Type.Literal('development'), Type.Literal('signed-in'), Type.Literal('locked')],
  {
    description:
      'Starter rules: "development" allows everything to everyone, "signed-in" only authenticated users (each owning the records under users/<id>/), "locked" denies everything. Left out, the app has no rules and everything is denied.',
  },
);

export const CreateAppBody = Type.Object(
  {
    name: AppName,
    template: Type.Optional(TemplateName),
    /** The organisation that owns the app; left out, the caller's own (GET /v1/orgs). */
    organisationId: Type.Optional(Uuid),
  },
  { additionalProperties: false },
);

export const AppView = Type.Object({
  id: Type.String({ description: 'Public: it is part of the realtime URL.' }),
  name: Type.String(),
  organisationId: Type.String({ description: 'The organisation that owns the app.' }),
  url: Type.String({ description: 'The realtime URL clients connect to.' }),
  activePermissionVersion: Type.Union([Type.Integer(), Type.Null()]),
  activePermissionTemplate: Type.Union([TemplateName, Type.Null()], {
    description:
      'The starter template the active permissions came from; null when they were written by hand or there are none.',
  }),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

export const AppList = Type.Object({ apps: Type.Array(AppView) });
