// The isolated-vm build this package pins, resolved from here (the engines field picks the package).
module.exports = require("isolated-vm");
