#!/usr/bin/env bash
# hashing/testdata/generators/build.sh — builds the small site of each real
# generator beside this script with its pinned versions (package.json +
# package-lock.json, installed with `npm ci`; Hugo from Debian's package) and
# copies each build output to hashing/testdata/sites/<generator>/, where the
# Go tests and bench/sites/generators.sh read it. CI does not run this: the
# outputs are committed. See README.md beside this script.
#
#   bash hashing/testdata/generators/build.sh              # every generator
#   bash hashing/testdata/generators/build.sh vite-vue     # some
#
# Needs Node 20 + npm (the npm registry), for hugo `apt-get install hugo`,
# for angular `apt-get install faketime`, for jekyll `apt-get install jekyll
# jekyll-theme-minima ruby-jekyll-feed ruby-jekyll-sitemap
# ruby-jekyll-seo-tag faketime`. Projects are copied to $WORK
# (default /tmp/cdnctl-generators) and built there, so nothing
# (node_modules, caches) lands in the repository. A project without a
# package-lock.json gets one from `npm install`, copied back here to be
# committed; with one, `npm ci` installs exactly it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sites=$(cd "$here/.." && pwd)/sites
WORK=${WORK:-/tmp/cdnctl-generators}
all=(vite-vue next vitepress starlight hugo astro sveltekit eleventy docusaurus angular jekyll gatsby)
[ $# -gt 0 ] && all=("$@")

# No telemetry, no update checks, no network but the npm registry.
export NEXT_TELEMETRY_DISABLED=1 ASTRO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 \
  NUXT_TELEMETRY_DISABLED=1 GATSBY_TELEMETRY_DISABLED=1 DOCUSAURUS_NO_UPDATE_NOTIFIER=1 \
  NO_UPDATE_NOTIFIER=1 npm_config_update_notifier=false npm_config_fund=false \
  npm_config_audit=false CI=1 TZ=UTC LC_ALL=C.UTF-8
# Dates a generator writes (Hugo's sitemap lastmod, feeds) come from here.
export SOURCE_DATE_EPOCH=1767225600 # 2026-01-01T00:00:00Z

install() { # gen: copies the project to $WORK/gen and installs its packages
  local gen=$1 w=$WORK/$1
  mkdir -p "$w"
  # Copy the sources over the previous work copy; node_modules stays.
  find "$w" -mindepth 1 -maxdepth 1 ! -name node_modules -exec rm -rf {} +
  cp -r "$here/$gen/." "$w/"
  cd "$w"
  if [ -f package.json ]; then
    if [ -f package-lock.json ]; then
      npm ci --no-audit --no-fund --loglevel=error
    else
      npm install --no-audit --no-fund --loglevel=error
      cp package-lock.json "$here/$gen/package-lock.json"
    fi
  fi
}

publish() { # gen dir: replaces sites/gen with the build output dir
  local gen=$1 out=$2
  rm -rf "${sites:?}/$gen"
  mkdir -p "$sites"
  cp -r "$out" "$sites/$gen"
  # The generator's version, for the README's table.
  echo "$gen: $(du -sk "$sites/$gen" | cut -f1) KB, $(find "$sites/$gen" -type f | wc -l) files"
}

for gen in "${all[@]}"; do
  echo "==> $gen"
  install "$gen"
  case $gen in
  vite-vue)
    npx vite build --logLevel warn
    publish "$gen" dist
    ;;
  next)
    npx next build
    publish "$gen" out
    ;;
  vitepress)
    npx vitepress build docs
    publish "$gen" docs/.vitepress/dist
    ;;
  hugo)
    mkdir -p static/fonts
    cp node_modules/@fontsource/inter/files/inter-latin-400-normal.woff2 static/fonts/inter.woff2
    hugo version
    hugo --quiet --destination public
    publish "$gen" public
    ;;
  astro)
    npx astro build --silent
    publish "$gen" dist
    ;;
  sveltekit)
    npx vite build --logLevel warn
    publish "$gen" build
    ;;
  eleventy)
    npx @11ty/eleventy --quiet
    publish "$gen" _site
    ;;
  starlight)
    npx astro build --silent
    publish "$gen" dist
    ;;
  docusaurus)
    npx docusaurus build --out-dir build
    publish "$gen" build
    ;;
  angular)
    # The application builder writes dist/fixture/{browser/,3rdpartylicenses.txt,
    # prerendered-routes.json}: browser/ is what is deployed.
    # ngsw.json records the build time ("timestamp": Date.now()); a clock
    # frozen at SOURCE_DATE_EPOCH (Debian's faketime -f, the monotonic
    # clock left alone) makes the build reproducible.
    NG_CLI_ANALYTICS=false FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f '2026-01-01 00:00:00' npx ng build
    publish "$gen" dist/fixture/browser
    ;;
  jekyll)
    # Debian's jekyll with the minima theme and the feed, sitemap and SEO
    # plugins; the feed's <updated> is the build time (site.time): a clock
    # frozen at SOURCE_DATE_EPOCH makes it reproducible.
    jekyll --version
    JEKYLL_ENV=production faketime -f '2026-01-01 00:00:00' jekyll build --quiet --destination _site
    publish "$gen" _site
    ;;
  gatsby)
    npx gatsby build
    publish "$gen" public
    ;;
  *)
    echo "unknown generator $gen" >&2; exit 2 ;;
  esac
done
