export const chunk = new URL("../img/logo.png", import.meta.url).href;
export { ping } from './cycle/a.js';
