export const m = "named through the import map prefix mods/";
