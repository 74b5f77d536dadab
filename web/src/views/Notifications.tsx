// Notifications: sinks (admin), rules (admin manages, everyone reads), mutes (operators), and
// the delivery log.
import { useSession } from '../api/session';
import { Deliveries } from './notifications/Deliveries';
import { Mutes } from './notifications/Mutes';
import { Rules } from './notifications/Rules';
import { Sinks } from './notifications/Sinks';

export default function Notifications() {
  const role = useSession().data?.role;
  const admin = role === 'admin';
  const operator = admin || role === 'operator';
  return (
    <div className="page">
      <div className="page-head">
        <h1>Notifications</h1>
      </div>
      {admin && <Sinks />}
      <Rules admin={admin} />
      <Mutes operator={operator} />
      <Deliveries />
    </div>
  );
}
