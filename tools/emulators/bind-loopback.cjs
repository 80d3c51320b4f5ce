// Preload (node --require) that pins every listening socket to 127.0.0.1.
// fauxqs and kinesalite listen on all interfaces and offer no host flag; the house rule is loopback only.
'use strict';
const net = require('net');
const LOOPBACK = '127.0.0.1';
const original = net.Server.prototype.listen;

net.Server.prototype.listen = function listen(...args) {
  const first = args[0];
  if (first !== null && typeof first === 'object' && !(first instanceof net.Server) && first.path === undefined && first.fd === undefined) {
    args[0] = { ...first, host: LOOPBACK, ipv6Only: false };
  } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    if (typeof args[1] === 'string') {
      args[1] = LOOPBACK;
    } else {
      args.splice(1, 0, LOOPBACK);
    }
  }
  return original.apply(this, args);
};
