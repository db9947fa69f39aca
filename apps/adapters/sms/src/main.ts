import { runAdapter } from '@app/channel-kit';
import { smsAdapter } from './sms.adapter';

void runAdapter(smsAdapter);
