import { pong } from "./b.js";
export const ping = () => pong();
