import { createApp } from 'vue';
import { createRouter, createWebHistory } from 'vue-router';
import '@fontsource/inter/latin-400.css';
import './style.css';
import App from './App.vue';
import Home from './views/Home.vue';

// Home is in the entry chunk; the other routes are lazy chunks, each with
// its own CSS, so Vite emits __vite__mapDeps preload lists for them.
const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/', component: Home },
    { path: '/about', component: () => import('./views/About.vue') },
    { path: '/gallery', component: () => import('./views/Gallery.vue') },
  ],
});

createApp(App).use(router).mount('#app');
