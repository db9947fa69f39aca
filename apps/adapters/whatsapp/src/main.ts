import { runAdapter } from '@app/channel-kit';
import { whatsappAdapter } from './whatsapp.adapter';

void runAdapter(whatsappAdapter);
