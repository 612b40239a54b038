import { Routes } from '@angular/router';
import { Home } from './home/home';

export const routes: Routes = [
  { path: '', component: Home, title: 'Home' },
  // A lazy route: its component is a separate chunk (chunk-XXXXXXXX.js)
  // that the router imports on navigation.
  { path: 'about', loadComponent: () => import('./about/about').then((m) => m.About), title: 'About' },
];
