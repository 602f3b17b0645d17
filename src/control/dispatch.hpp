#pragma once
// The translation from the control protocol to the meter: one parsed ControlMessage becomes the typed
// PhaseRecorder call it stands for. The meter knows nothing of the wire; the protocol's rules on fields stay
// here.
//
// clang-format off
//   begin NAME [samples=N] [k=v ...]  -> begin(t, NAME, samples, {k: v, ...}) (the last value of a key wins)
//   end NAME [samples=N]              -> end(t, NAME, samples) (other fields are not kept)
//   epoch [n=N] [samples=N]           -> epoch(t, n, samples)
//   meta k=v ...                      -> meta(k, v) for each field, in order
//   metric k=v ...                    -> metric(t, k, v) for each field; a value that is not a finite number
//                                        is counted as ignored
//   hello rank=R ...                  -> hello(connection, identity); a hello without a rank changes nothing
// clang-format on

#include <cstdint>

#include "control/protocol.hpp"
#include "meter/phases.hpp"

namespace joulecast::control {

/// Records `message`, received at CLOCK_MONOTONIC `t_ns` on `connection` (ControlEvent::connection; 0 for
/// none, e.g. replayed markers), in `recorder`.
void dispatch_control(meter::PhaseRecorder& recorder, std::int64_t t_ns, const ControlMessage& message,
                      std::uint64_t connection = 0);

}  // namespace joulecast::control
