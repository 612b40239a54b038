module.exports = {
  siteMetadata: { title: 'Gatsby fixture', siteUrl: 'https://fixture.example' },
  trailingSlash: 'always',
  plugins: [],
};
