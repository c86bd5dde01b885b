// Merged into @jupyter/builder's configuration. Module ids by order of use, not by a hash of
// the module's identifier: the federation container's identifier holds absolute paths, so
// hashed ids would change with the folder the sources are built in.
module.exports = {
  optimization: {
    moduleIds: 'natural'
  }
};
