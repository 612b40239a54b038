import { Component } from '@angular/core';

@Component({
  selector: 'app-home',
  template: `
    <h1>Angular fixture</h1>
    <p class="lead">A page with an image from public/ named by its template.</p>
    <img [src]="hero" alt="hero" width="160" height="100" />
  `,
  styles: `.lead { font-weight: bold; }`,
})
export class Home {
  // A public/ file named by a string of the bundle.
  protected readonly hero = 'images/hero.png';
}
