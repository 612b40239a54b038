// No source maps in the build (they would triple the committed fixture).
exports.onCreateWebpackConfig = ({ stage, actions }) => {
  if (stage === 'build-javascript') {
    actions.setWebpackConfig({ devtool: false });
  }
};
