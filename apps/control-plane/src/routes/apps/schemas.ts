import Type from 'typebox';

export const AppName = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' });

export const AppBody = Type.Object({ name: AppName }, { additionalProperties: false });

export const AppView = Type.Object({
  id: Type.String({ description: 'Public: it is part of the realtime URL.' }),
  name: Type.String(),
  url: Type.String({ description: 'The realtime URL clients connect to.' }),
  activePermissionVersion: Type.Union([Type.Integer(), Type.Null()]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

export const AppList = Type.Object({ apps: Type.Array(AppView) });
