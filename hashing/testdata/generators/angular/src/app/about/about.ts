import { Component } from '@angular/core';

@Component({
  selector: 'app-about',
  template: `
    <h1>About</h1>
    <p id="about-text">Loaded lazily by the router.</p>
    <img src="/images/photo.png" alt="photo" width="120" height="80" />
    <div class="pattern"></div>
  `,
  styles: `.pattern { width: 48px; height: 48px; background: url(../../assets/pattern.png); }`,
})
export class About {}
