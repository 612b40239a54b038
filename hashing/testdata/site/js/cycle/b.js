import { ping } from "./a.js";
import "../../css/print.css" with { type: "css" };
export const pong = () => ping;
