import { runAdapter } from '@app/channel-kit';
import { emailAdapter } from './email.adapter';

void runAdapter(emailAdapter);
