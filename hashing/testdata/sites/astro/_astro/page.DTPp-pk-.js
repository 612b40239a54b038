import{a as i}from"./index.E2NZU3JX.js";i();
