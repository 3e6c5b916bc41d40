/* message-ids.h — MESSAGE_ID of every lifecycle event sdvisor logs.
 *
 * Each has an entry in data/sdvisor.catalog (journalctl -x shows it); a test checks
 * that the two lists agree. Generated once with `systemd-id128 new`; never change one. */
#pragma once

#define SV_MESSAGE_APP_STARTED      "b10f3ce08b4f4e4d9249d2559fa95ff2"
#define SV_MESSAGE_APP_EXEC_FAILED  "1c864134b38745a19139794b8343a004"
#define SV_MESSAGE_APP_EXITED       "a3895a9585dc48e7b4e86e541883b372"
#define SV_MESSAGE_STOP_REQUESTED   "49e79feffe7140dd9e1112202aeb4937"
#define SV_MESSAGE_STOP_DEADLINE    "99c59698e8b24b3cae16111c795c9b89"
#define SV_MESSAGE_STOPPED          "a13ce7b51caf409db79dab25fa335a02"
#define SV_MESSAGE_RELOAD           "0fb8758401e94598bc3ff5cf5ebd889e"
#define SV_MESSAGE_CONFIG_INVALID   "c7f73f0e3de945af84c1c805422eeb0b"
